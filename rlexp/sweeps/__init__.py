"""Sweeps and their review: the multirun job wrapper, seeds as a repeat axis, HParams
records, and `rlexp report`.

Nothing here imports TensorFlow or the training code at module level: a sweep job runs
its training in a child process (`rlexp.sweeps.child`), and the report reads run
directories only (metrics.json, job.json and TensorBoard event files).
"""

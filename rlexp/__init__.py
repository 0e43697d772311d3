"""rlexp: config-driven RL experiments on TF-Agents."""

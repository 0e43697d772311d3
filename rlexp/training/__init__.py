"""The trainer: builds the components in order and runs prefill, collect/train, triggers."""

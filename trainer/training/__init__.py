"""Training a LoRA adapter: config, base-model loading, LoRA, batches, the loop and its callbacks.
"""

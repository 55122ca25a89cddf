"""Offline test assets: tiny models and tokenizers built from configs."""

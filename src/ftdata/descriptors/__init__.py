"""Descriptors, one module per kind: LLaMA-Factory's dataset_info.json (read and write), LLaMA-Factory v1 dataset
YAML, and export / import to axolotl and trl; `base` holds what every kind shares (its entries' reports)."""

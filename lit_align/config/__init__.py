"""Config loading, validation and instantiation.

A config is YAML merged by OmegaConf; components are `class_path` + `init_args`
nodes; the constructor signature of each class is its schema.
"""

"""Data: canonical records, format checks, tokenisation, collation, datamodule."""

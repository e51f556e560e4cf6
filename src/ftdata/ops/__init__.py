"""The operations the CLI and `ftdata.api` run: validate, convert, fix, dedup, schemas."""

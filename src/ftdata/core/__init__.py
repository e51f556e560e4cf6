"""The core: the canonical record, problems and their codes, the conversation rules, reports and stats.

Imports nothing above itself; everything else in ftdata builds on it."""

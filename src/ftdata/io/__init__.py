"""Input and output: streaming readers (items or problems), JSON arrays, the staged writers every output goes
through (temp file, exclusive create, never onto an input), media paths and the checks that span a file."""

"""The command line: ``normwacht COMMAND``."""

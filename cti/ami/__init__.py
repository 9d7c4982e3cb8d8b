"""AMI engine: the connection to Asterisk, parser, call tracker, event filters."""

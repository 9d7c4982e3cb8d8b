"""AMI engine: the connection to Asterisk (the only panoramisk user), parser, call tracker."""

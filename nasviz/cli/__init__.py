"""The ``nasviz`` command line."""

"""Sub-commands of the ``cashsim`` command line, one module each (see cashsim.cli)."""

"""Migration scripts, oldest first (see ``joinedup.state.migrate``)."""

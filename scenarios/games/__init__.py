"""The built-in games, registered through the same registry user plugins use."""

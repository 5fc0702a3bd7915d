"""Staff views; arriving."""

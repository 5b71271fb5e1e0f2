"""Self-play deep Q-learning for two-player board games."""

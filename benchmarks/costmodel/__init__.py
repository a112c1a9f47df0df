"""The cost-model benchmark: the local cloud's hidden prices and hazards, learned back."""

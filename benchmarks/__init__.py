"""Commands that measure (speed, regret) and write JSON + a markdown table."""

"""The guide's examples as runnable modules (code as in the guide; only imports added)."""

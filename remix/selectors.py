"""Reads of remix nodes, analyses and briefs (QuerySets with their joins declared here)."""

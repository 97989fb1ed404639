"""Role `bridges`: see DESIGN.md (work for this role comes with its own issue)."""

"""Role `jobs`: see DESIGN.md (work for this role comes with its own issue)."""

"""Content: the files under content/ found through the gate (sources.py), their front matter
read with its lines (frontmatter), checked (validate) and loaded into Items and PlainPages (load)."""

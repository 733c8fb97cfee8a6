"""Rendering: Markdown bodies, the theme's templates, the page plan, feeds, sitemap, search and link
checks. Nothing here writes the site (output/ does) or opens the cache (state/ does)."""

"""State between builds: the cache (the only code that opens it), what a build read (inputs), the
build records and the road a rebuild takes, and what `hubgen serve` keeps in memory."""

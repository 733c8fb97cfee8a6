"""The preview: `hubgen serve` builds, watches, rebuilds, reloads browsers and hosts the collector."""

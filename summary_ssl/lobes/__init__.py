"""summary_ssl.lobes."""

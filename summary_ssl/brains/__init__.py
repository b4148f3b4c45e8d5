"""summary_ssl.brains."""

"""summary_ssl.dataio."""

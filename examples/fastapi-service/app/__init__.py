"""Orders API: the sample service that shipline ships from commit to production."""

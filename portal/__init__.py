"""The agencies' submission page: check a file as the night would, submit it into the landing zone, follow its fate."""

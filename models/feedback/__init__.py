"""Learning from feedback: user profiles from durable events (:mod:`.profiles`)."""

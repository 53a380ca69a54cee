"""The deliberate mistakes: broken variants of the store and the worker, each naming its mistake,
and the scenarios that run each one beside the correct pattern with its race forced open."""

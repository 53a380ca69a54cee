"""What is specific to one kind of store, and the decisions every store shares."""

"""One thin handler per Lambda task: parse the event, call one logic function, return a model dump."""

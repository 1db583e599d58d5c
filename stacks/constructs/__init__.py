"""One construct per concern of the control plane."""

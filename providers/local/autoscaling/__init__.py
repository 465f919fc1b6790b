"""The local Application Auto Scaling: scalable targets, policies, scheduled
actions and scaling activities, acting on the local endpoints for real."""

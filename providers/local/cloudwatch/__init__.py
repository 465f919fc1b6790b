"""The local CloudWatch: metric data, metric queries, alarms and their evaluation."""

"""gunicorn settings, read from the project directory by every `gunicorn` started there (the Procfile's too)."""

# The default access log writes the request line with its query string and the Referer: a client that wrongly puts a
# token in the URL (?token=...) would get it written to the logs. The path alone (%(U)s) is logged instead.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

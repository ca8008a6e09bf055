from celery import shared_task


@shared_task
def send_notification_task(user_id, message):
    """Declared here only so that Django code can call .delay(); the Node worker runs it."""
    raise RuntimeError("send_notification_task runs in the notification service's worker")

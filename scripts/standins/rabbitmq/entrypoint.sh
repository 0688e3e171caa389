#!/bin/bash
# The official image's variables, written where Debian's RabbitMQ reads them.
set -euo pipefail
{
  echo "listeners.tcp.default = 5672"
  echo "management.tcp.port = 15672"
  echo "loopback_users = none"
  echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
  echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
} > /etc/rabbitmq/rabbitmq.conf
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
# Debian's wrapper drops to the rabbitmq user.
exec "$@"

# The worker image: refinire-flow and the flows in this directory. The flows to serve come from
# REFINIRE_FLOW_MODULES (or the command's arguments); the cluster from TEMPORAL_ADDRESS.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONPATH=/app
COPY pyproject.toml README.md worker.py ./
COPY refinire ./refinire
COPY workflows ./workflows
COPY activities ./activities
COPY client ./client
RUN pip install --no-cache-dir .
COPY examples ./examples
EXPOSE 9464
CMD ["refinire-flow", "worker", "--metrics-port", "9464"]

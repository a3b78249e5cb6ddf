ARG BASE=python:3.12-slim
FROM ${BASE} AS build
RUN pip wheel --wheel-dir /wheels fastapi

FROM python:latest
COPY --from=build /wheels /wheels
USER root
CMD ["python"]

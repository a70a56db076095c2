# The app behind one port, warmed before the first visitor (python -m ui.serve).
#   docker build -t vi-vs-mcmc .
#   docker run --rm -p 8501:8501 vi-vs-mcmc
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none

RUN useradd --create-home --uid 10001 app
WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# root-owned and read-only to the app user: nothing writes to the code at run time
COPY . .
USER app

EXPOSE 8501
# healthy once Streamlit answers and ui.serve has warmed the default run and every lesson's link (~20 s after start
# on 2 idle cores): an orchestrator that waits for it never sends a class to a cold lesson
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "ui.serve", "--check", "--server.port", "8501"]

CMD ["python", "-m", "ui.serve", "--server.port", "8501", "--server.address", "0.0.0.0"]

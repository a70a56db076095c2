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
# healthy once Streamlit answers; python, since slim has no curl
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).read() != b'ok')"

CMD ["python", "-m", "ui.serve", "--server.port", "8501", "--server.address", "0.0.0.0"]

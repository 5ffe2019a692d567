"""Manifests from the seed tutorials (../shared/seeds), verbatim: what users will apply."""

NGINX_RC = """apiVersion: v1
kind: ReplicationController
metadata:
  name: my-nginx
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: daocloud.io/library/nginx
        ports:
        - containerPort: 80
"""

NGINX_DEPLOYMENT_AND_SERVICE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep01
spec:
  selector:
    matchLabels:
      app: web
  replicas: 2
  template:
    metadata:
      name: testnginx9
      labels:
        app: web
    spec:
      containers:
      - name: testnginx9
        image: daocloud.io/library/nginx
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: mysvc
spec:
  type: NodePort
  ports:
  - port: 8080
    nodePort: 30001
    targetPort: 80
  selector:
    app: web
"""

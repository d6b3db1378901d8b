import InjectSecretsCore
print("inject-secrets")

/// The OpenAPI 3.1 document served at `/openapi.json`. `OpenAPIDocumentTests` checks that it
/// lists exactly the routes the router serves.
public enum OpenAPIDocument {
    /// The document's JSON text.
    public static let json = #"""
{
 "openapi": "3.1.0",
 "info": {
  "title": "Tally API",
  "version": "0.1.0",
  "description": "Tally: self-hosted usage metering, quota, job and billing core. Every /v1 route takes `Authorization: Bearer <API key>`; the tenant is resolved from the key. Errors are RFC 9457 problem documents with a stable `code`.",
  "license": {
   "name": "MIT",
   "identifier": "MIT"
  }
 },
 "servers": [
  {
   "url": "http://127.0.0.1:8080"
  }
 ],
 "security": [
  {
   "bearer": []
  }
 ],
 "tags": [
  {
   "name": "health"
  },
  {
   "name": "tenants"
  },
  {
   "name": "api-keys"
  },
  {
   "name": "service-identities"
  },
  {
   "name": "operator"
  }
 ],
 "paths": {
  "/health/live": {
   "get": {
    "summary": "Liveness: the process serves HTTP",
    "operationId": "getLive",
    "tags": [
     "health"
    ],
    "responses": {
     "200": {
      "description": "Alive",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Status"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/health/ready": {
   "get": {
    "summary": "Readiness: every dependency answers within 2 s",
    "operationId": "getReady",
    "tags": [
     "health"
    ],
    "responses": {
     "200": {
      "description": "Ready",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Ready"
        }
       }
      }
     },
     "503": {
      "description": "Not ready: the problem's `checks` member names each dependency's status",
      "content": {
       "application/problem+json": {
        "schema": {
         "$ref": "#/components/schemas/Problem"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/metrics": {
   "get": {
    "summary": "Prometheus metrics (text exposition format 0.0.4)",
    "operationId": "getMetrics",
    "tags": [
     "health"
    ],
    "responses": {
     "200": {
      "description": "Metrics",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/openapi.json": {
   "get": {
    "summary": "This OpenAPI document",
    "operationId": "getOpenAPI",
    "tags": [
     "health"
    ],
    "responses": {
     "200": {
      "description": "The document",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/v1/me": {
   "get": {
    "summary": "Who the presented key belongs to",
    "operationId": "getMe",
    "tags": [
     "api-keys"
    ],
    "responses": {
     "200": {
      "description": "The caller",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Me"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     }
    }
   }
  },
  "/v1/tenants": {
   "get": {
    "summary": "List tenants (operator)",
    "operationId": "listTenants",
    "tags": [
     "tenants"
    ],
    "responses": {
     "200": {
      "description": "A page of tenants",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TenantList"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     }
    },
    "parameters": [
     {
      "$ref": "#/components/parameters/limit"
     },
     {
      "$ref": "#/components/parameters/after"
     }
    ]
   },
   "post": {
    "summary": "Create a tenant (operator)",
    "operationId": "createTenant",
    "tags": [
     "tenants"
    ],
    "responses": {
     "201": {
      "description": "Created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Tenant"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/Unprocessable"
     },
     "409": {
      "description": "The slug is taken (`conflict`, field `slug`)",
      "content": {
       "application/problem+json": {
        "schema": {
         "$ref": "#/components/schemas/Problem"
        }
       }
      }
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/NewTenant"
       }
      }
     }
    }
   }
  },
  "/v1/tenants/{id}": {
   "get": {
    "summary": "Read a tenant (operator, or a key of that tenant with tenant:read)",
    "operationId": "getTenant",
    "tags": [
     "tenants"
    ],
    "responses": {
     "200": {
      "description": "The tenant",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Tenant"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Tenant id (ten_\u2026)",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "patch": {
    "summary": "Rename, reconfigure, suspend, resume or delete a tenant (operator)",
    "operationId": "updateTenant",
    "tags": [
     "tenants"
    ],
    "responses": {
     "200": {
      "description": "The updated tenant",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Tenant"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/Unprocessable"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "description": "Status change not allowed (a deleted tenant is final)",
      "content": {
       "application/problem+json": {
        "schema": {
         "$ref": "#/components/schemas/Problem"
        }
       }
      }
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/TenantPatch"
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Tenant id (ten_\u2026)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/tenants/{id}/api-keys": {
   "get": {
    "summary": "List a tenant's API keys (operator)",
    "operationId": "listTenantKeys",
    "tags": [
     "operator"
    ],
    "responses": {
     "200": {
      "description": "A page of keys",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKeyList"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Tenant id",
      "schema": {
       "type": "string"
      }
     },
     {
      "$ref": "#/components/parameters/limit"
     },
     {
      "$ref": "#/components/parameters/after"
     }
    ]
   },
   "post": {
    "summary": "Issue an API key for a tenant (operator); the secret is returned once",
    "operationId": "createTenantKey",
    "tags": [
     "operator"
    ],
    "responses": {
     "201": {
      "description": "Created, with `secret`",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/IssuedAPIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/Unprocessable"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/NewAPIKey"
       }
      }
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Tenant id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/tenants/{id}/api-keys/{key_id}": {
   "delete": {
    "summary": "Revoke a tenant's API key (operator); idempotent",
    "operationId": "revokeTenantKey",
    "tags": [
     "operator"
    ],
    "responses": {
     "200": {
      "description": "The revoked key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Tenant id",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "key_id",
      "in": "path",
      "required": true,
      "description": "API key id (key_\u2026)",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/api-keys": {
   "get": {
    "summary": "List the caller's tenant's API keys (keys:read)",
    "operationId": "listKeys",
    "tags": [
     "api-keys"
    ],
    "responses": {
     "200": {
      "description": "A page of keys",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKeyList"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     }
    },
    "parameters": [
     {
      "$ref": "#/components/parameters/limit"
     },
     {
      "$ref": "#/components/parameters/after"
     }
    ]
   },
   "post": {
    "summary": "Issue an API key for the caller's tenant (keys:write); cannot grant scopes the caller lacks",
    "operationId": "createKey",
    "tags": [
     "api-keys"
    ],
    "responses": {
     "201": {
      "description": "Created, with `secret`",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/IssuedAPIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/Unprocessable"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/NewAPIKey"
       }
      }
     }
    }
   }
  },
  "/v1/api-keys/{id}": {
   "get": {
    "summary": "Read one of the tenant's API keys (keys:read)",
    "operationId": "getKey",
    "tags": [
     "api-keys"
    ],
    "responses": {
     "200": {
      "description": "The key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "API key id",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "delete": {
    "summary": "Revoke one of the tenant's API keys (keys:write); idempotent",
    "operationId": "revokeKey",
    "tags": [
     "api-keys"
    ],
    "responses": {
     "200": {
      "description": "The revoked key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "API key id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/operator/api-keys": {
   "get": {
    "summary": "List operator keys (operator)",
    "operationId": "listOperatorKeys",
    "tags": [
     "operator"
    ],
    "responses": {
     "200": {
      "description": "A page of keys",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKeyList"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     }
    },
    "parameters": [
     {
      "$ref": "#/components/parameters/limit"
     },
     {
      "$ref": "#/components/parameters/after"
     }
    ]
   },
   "post": {
    "summary": "Issue an operator key (operator); the secret is returned once",
    "operationId": "createOperatorKey",
    "tags": [
     "operator"
    ],
    "responses": {
     "201": {
      "description": "Created, with `secret`",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/IssuedAPIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/Unprocessable"
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": [
         "name"
        ],
        "properties": {
         "name": {
          "type": "string",
          "minLength": 1,
          "maxLength": 200
         }
        }
       }
      }
     }
    }
   }
  },
  "/v1/operator/api-keys/{id}": {
   "delete": {
    "summary": "Revoke an operator key (operator); idempotent",
    "operationId": "revokeOperatorKey",
    "tags": [
     "operator"
    ],
    "responses": {
     "200": {
      "description": "The revoked key",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/APIKey"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "API key id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  },
  "/v1/service-identities": {
   "get": {
    "summary": "List the tenant's service identities (keys:read)",
    "operationId": "listServiceIdentities",
    "tags": [
     "service-identities"
    ],
    "responses": {
     "200": {
      "description": "A page",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ServiceIdentityList"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     }
    },
    "parameters": [
     {
      "$ref": "#/components/parameters/limit"
     },
     {
      "$ref": "#/components/parameters/after"
     }
    ]
   },
   "post": {
    "summary": "Create a service identity (keys:write)",
    "operationId": "createServiceIdentity",
    "tags": [
     "service-identities"
    ],
    "responses": {
     "201": {
      "description": "Created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ServiceIdentity"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/Unprocessable"
     },
     "409": {
      "description": "The name is taken (`conflict`, field `name`)",
      "content": {
       "application/problem+json": {
        "schema": {
         "$ref": "#/components/schemas/Problem"
        }
       }
      }
     }
    },
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/NewServiceIdentity"
       }
      }
     }
    }
   }
  },
  "/v1/service-identities/{id}": {
   "get": {
    "summary": "Read a service identity (keys:read)",
    "operationId": "getServiceIdentity",
    "tags": [
     "service-identities"
    ],
    "responses": {
     "200": {
      "description": "The identity",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ServiceIdentity"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Service identity id (svc_\u2026)",
      "schema": {
       "type": "string"
      }
     }
    ]
   },
   "delete": {
    "summary": "Disable a service identity and revoke its keys (keys:write)",
    "operationId": "disableServiceIdentity",
    "tags": [
     "service-identities"
    ],
    "responses": {
     "200": {
      "description": "The disabled identity",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ServiceIdentity"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     }
    },
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "description": "Service identity id",
      "schema": {
       "type": "string"
      }
     }
    ]
   }
  }
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key: tly_<26 characters>_<43 characters>"
   }
  },
  "parameters": {
   "limit": {
    "name": "limit",
    "in": "query",
    "description": "Page size, 1-200 (default 50)",
    "schema": {
     "type": "integer",
     "minimum": 1,
     "maximum": 200,
     "default": 50
    }
   },
   "after": {
    "name": "after",
    "in": "query",
    "description": "The `next_cursor` of the previous page",
    "schema": {
     "type": "string"
    }
   }
  },
  "responses": {
   "BadRequest": {
    "description": "`malformed_json` or `invalid_parameter`",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   },
   "Unauthorized": {
    "description": "`missing_credentials`, `invalid_api_key`, `api_key_revoked` or `api_key_expired`",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   },
   "Forbidden": {
    "description": "`forbidden` (wrong kind of key or missing scope), `tenant_suspended` or `tenant_deleted`",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   },
   "NotFound": {
    "description": "`not_found`",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   },
   "TooLarge": {
    "description": "`body_too_large`",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   },
   "UnsupportedMediaType": {
    "description": "`unsupported_media_type`: send application/json",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   },
   "Unprocessable": {
    "description": "`validation_failed`, with `field`",
    "content": {
     "application/problem+json": {
      "schema": {
       "$ref": "#/components/schemas/Problem"
      }
     }
    }
   }
  },
  "schemas": {
   "Problem": {
    "type": "object",
    "required": [
     "type",
     "title",
     "status",
     "detail",
     "code"
    ],
    "properties": {
     "type": {
      "type": "string",
      "description": "urn:tally:problem:<code>"
     },
     "title": {
      "type": "string"
     },
     "status": {
      "type": "integer"
     },
     "detail": {
      "type": "string"
     },
     "code": {
      "type": "string"
     },
     "field": {
      "type": "string"
     },
     "request_id": {
      "type": "string"
     },
     "checks": {
      "type": "object",
      "description": "readiness only: status per dependency"
     }
    }
   },
   "Status": {
    "type": "object",
    "required": [
     "status"
    ],
    "properties": {
     "status": {
      "type": "string"
     }
    }
   },
   "Ready": {
    "type": "object",
    "required": [
     "status",
     "checks"
    ],
    "properties": {
     "status": {
      "type": "string"
     },
     "checks": {
      "type": "object",
      "additionalProperties": {
       "type": "object",
       "properties": {
        "status": {
         "type": "string"
        },
        "error": {
         "type": "string"
        }
       }
      }
     }
    }
   },
   "Tenant": {
    "type": "object",
    "required": [
     "id",
     "slug",
     "name",
     "status",
     "settings",
     "created_at",
     "updated_at"
    ],
    "properties": {
     "id": {
      "type": "string"
     },
     "slug": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "status": {
      "type": "string",
      "enum": [
       "active",
       "suspended",
       "deleted"
      ]
     },
     "settings": {
      "type": "object"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "TenantList": {
    "type": "object",
    "required": [
     "data",
     "has_more"
    ],
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Tenant"
      }
     },
     "has_more": {
      "type": "boolean"
     },
     "next_cursor": {
      "type": [
       "string",
       "null"
      ]
     }
    }
   },
   "NewTenant": {
    "type": "object",
    "required": [
     "slug",
     "name"
    ],
    "properties": {
     "slug": {
      "type": "string",
      "pattern": "^[a-z0-9][a-z0-9-]{1,62}$"
     },
     "name": {
      "type": "string",
      "minLength": 1,
      "maxLength": 200
     },
     "settings": {
      "type": "object"
     }
    }
   },
   "TenantPatch": {
    "type": "object",
    "properties": {
     "name": {
      "type": "string"
     },
     "status": {
      "type": "string",
      "enum": [
       "active",
       "suspended",
       "deleted"
      ]
     },
     "settings": {
      "type": "object",
      "description": "replaces the settings object"
     }
    }
   },
   "APIKey": {
    "type": "object",
    "required": [
     "id",
     "name",
     "prefix",
     "scopes",
     "created_at"
    ],
    "properties": {
     "id": {
      "type": "string"
     },
     "tenant_id": {
      "type": [
       "string",
       "null"
      ]
     },
     "service_identity_id": {
      "type": [
       "string",
       "null"
      ]
     },
     "name": {
      "type": "string"
     },
     "prefix": {
      "type": "string",
      "description": "the secret's first characters"
     },
     "scopes": {
      "type": "array",
      "items": {
       "type": "string",
       "enum": [
        "operator",
        "tenant:read",
        "keys:read",
        "keys:write",
        "events:write",
        "usage:read"
       ]
      }
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "last_used_at": {
      "type": [
       "string",
       "null"
      ],
      "format": "date-time"
     },
     "revoked_at": {
      "type": [
       "string",
       "null"
      ],
      "format": "date-time"
     },
     "expires_at": {
      "type": [
       "string",
       "null"
      ],
      "format": "date-time"
     }
    }
   },
   "IssuedAPIKey": {
    "allOf": [
     {
      "$ref": "#/components/schemas/APIKey"
     },
     {
      "type": "object",
      "required": [
       "secret"
      ],
      "properties": {
       "secret": {
        "type": "string",
        "description": "shown once; store it now"
       }
      }
     }
    ]
   },
   "APIKeyList": {
    "type": "object",
    "required": [
     "data",
     "has_more"
    ],
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/APIKey"
      }
     },
     "has_more": {
      "type": "boolean"
     },
     "next_cursor": {
      "type": [
       "string",
       "null"
      ]
     }
    }
   },
   "NewAPIKey": {
    "type": "object",
    "required": [
     "name"
    ],
    "properties": {
     "name": {
      "type": "string",
      "minLength": 1,
      "maxLength": 200
     },
     "scopes": {
      "type": "array",
      "items": {
       "type": "string",
       "enum": [
        "tenant:read",
        "keys:read",
        "keys:write",
        "events:write",
        "usage:read"
       ]
      },
      "description": "default: every tenant scope"
     },
     "service_identity_id": {
      "type": "string"
     },
     "expires_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "ServiceIdentity": {
    "type": "object",
    "required": [
     "id",
     "tenant_id",
     "name",
     "description",
     "created_at"
    ],
    "properties": {
     "id": {
      "type": "string"
     },
     "tenant_id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "disabled_at": {
      "type": [
       "string",
       "null"
      ],
      "format": "date-time"
     }
    }
   },
   "ServiceIdentityList": {
    "type": "object",
    "required": [
     "data",
     "has_more"
    ],
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/ServiceIdentity"
      }
     },
     "has_more": {
      "type": "boolean"
     },
     "next_cursor": {
      "type": [
       "string",
       "null"
      ]
     }
    }
   },
   "NewServiceIdentity": {
    "type": "object",
    "required": [
     "name"
    ],
    "properties": {
     "name": {
      "type": "string"
     },
     "description": {
      "type": "string",
      "maxLength": 1000
     }
    }
   },
   "Me": {
    "type": "object",
    "required": [
     "api_key_id",
     "kind",
     "scopes"
    ],
    "properties": {
     "api_key_id": {
      "type": "string"
     },
     "kind": {
      "type": "string",
      "enum": [
       "operator",
       "tenant"
      ]
     },
     "tenant_id": {
      "type": [
       "string",
       "null"
      ]
     },
     "service_identity_id": {
      "type": [
       "string",
       "null"
      ]
     },
     "scopes": {
      "type": "array",
      "items": {
       "type": "string"
      }
     }
    }
   }
  }
 }
}
"""#
}

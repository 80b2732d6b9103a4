package rest

import "github.com/google/uuid"

type uuidT = uuid.UUID

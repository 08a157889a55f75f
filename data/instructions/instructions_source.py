"""Source of data/instructions/train.csv and test.csv: prompt -> response rows for instruction SFT.

Every row below was written one at a time, by hand, for the sft-teach course (notebook
07_instruction_sft.ipynb). Each entry is a tuple (task, instruction, input, response):

* task -- "animal" (is this pet owner's note about a cat or a dog?), "desk" (which desk of
  the vet clinic should this message go to?) or "rewrite" (a short rewriting job).
* instruction -- its own hand-written sentence; no two are alike.
* input -- for "animal" and "desk", a reference (dataset, split, row) to a note or message of
  data/<dataset>/<split>.csv, row counted from 0 after the header. The script reads the CSV,
  so the text in the output is the note exactly as it stands there. For "rewrite", a literal
  string, sometimes empty when the instruction says everything.
* response -- for "animal" and "desk", the label as written here, checked against the
  label in the CSV (the script stops if they differ); for "rewrite", the hand-written answer.

Train rows only point at the train splits of pets and clinic, test rows only at their test
splits, so a held-out prompt always contains a note the training rows never showed.

Run ``python data/instructions/instructions_source.py [OUT_DIR]`` to (re)write train.csv and
test.csv (default: next to this file; rows shuffled with random.Random(0) and
random.Random(1)) and print the counts used in README.md.
"""

from __future__ import annotations

import csv
import itertools
import random
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent  # the pets and clinic folders sit next to this one

DESKS = ("adoption", "appointment", "billing", "complaint", "emergency", "grooming",
         "lost_found", "praise", "prescription", "shop")
MAX_INPUT_WORDS = 40
MAX_REWRITE_WORDS = 30

TRAIN = [
    # ------------------------------------------------------------------ animal (pets/train.csv)
    ("animal", "Cat or dog?", ("pets", "train", 1), "cat"),
    ("animal", "Is the writer of this note a cat person or a dog person?", ("pets", "train", 0), "dog"),
    ("animal", "Read the owner's note and say which pet it describes: cat or dog.", ("pets", "train", 2), "cat"),
    ("animal", "Which animal is this note about? Answer with one word.", ("pets", "train", 3), "dog"),
    ("animal", "Decide whether this pet diary entry is about a cat or a dog.", ("pets", "train", 10), "cat"),
    ("animal", "Here's something a pet owner wrote. Cat, or dog?", ("pets", "train", 4), "dog"),
    ("animal", "Classify the note below as cat or dog.", ("pets", "train", 11), "cat"),
    ("animal", "What kind of pet does this owner have?", ("pets", "train", 5), "dog"),
    ("animal", "Tell me if this is about a feline or a canine. Reply cat or dog.", ("pets", "train", 13), "cat"),
    ("animal", "Guess the species.", ("pets", "train", 6), "dog"),
    ("animal", "Based only on the text, is the pet a dog or a cat?", ("pets", "train", 16), "cat"),
    ("animal", "One word please: which pet is this?", ("pets", "train", 7), "dog"),
    ("animal", "My friend sent me this message about her pet. Do you think she has a cat or a dog?", ("pets", "train", 18), "cat"),
    ("animal", "Label this note with the animal it's about (cat/dog).", ("pets", "train", 8), "dog"),
    ("animal", "Dog or cat? Just the word, please.", ("pets", "train", 22), "cat"),
    ("animal", "Which of the two common household pets fits this description best?", ("pets", "train", 9), "dog"),
    ("animal", "From the clues in this note, work out whether the animal is a cat or a dog.", ("pets", "train", 24), "cat"),
    ("animal", "Please identify the animal in the following owner's note.", ("pets", "train", 12), "dog"),
    ("animal", "A neighbour left this note. What pet do they keep?", ("pets", "train", 26), "cat"),
    ("animal", "Is this note describing a cat or a dog? Answer in lowercase.", ("pets", "train", 14), "dog"),
    ("animal", "Which pet? cat / dog", ("pets", "train", 29), "cat"),
    ("animal", "Sort this note into the cat pile or the dog pile.", ("pets", "train", 15), "dog"),
    ("animal", "Who is the note about, a moggy or a mutt? Answer cat or dog.", ("pets", "train", 30), "cat"),
    ("animal", "Having read the note, state whether its subject is a cat or a dog.", ("pets", "train", 19), "dog"),
    ("animal", "Quick one: cat or dog in this note?", ("pets", "train", 35), "cat"),
    ("animal", "The owner never names the animal. Can you still tell which it is?", ("pets", "train", 20), "dog"),
    ("animal", "Which animal would you expect to behave like this?", ("pets", "train", 36), "cat"),
    ("animal", "Give the pet type for this note. Options: cat, dog.", ("pets", "train", 21), "dog"),
    ("animal", "Read carefully and answer with either \"cat\" or \"dog\".", ("pets", "train", 38), "cat"),
    ("animal", "What species is the pet in this entry?", ("pets", "train", 23), "dog"),
    ("animal", "This was written by an owner about their pet. Tell me the pet.", ("pets", "train", 39), "cat"),
    ("animal", "Does this sound like a cat to you, or a dog?", ("pets", "train", 25), "dog"),
    ("animal", "Kindly determine whether the following passage concerns a cat or a dog.", ("pets", "train", 40), "cat"),
    ("animal", "Pet type?", ("pets", "train", 27), "dog"),
    ("animal", "I found this scribbled on the fridge. Which animal is it about?", ("pets", "train", 47), "cat"),
    ("animal", "Assign the correct label, cat or dog, to this owner's note.", ("pets", "train", 28), "dog"),
    ("animal", "Which four-legged friend is this about?", ("pets", "train", 49), "cat"),
    ("animal", "Name the animal this owner is writing about.", ("pets", "train", 32), "dog"),
    ("animal", "Work out the pet from the note. Reply with a single lowercase word.", ("pets", "train", 50), "cat"),
    ("animal", "Cat? Dog? Which one is it?", ("pets", "train", 33), "dog"),
    ("animal", "Reading this, would you say the household has a dog or a cat?", ("pets", "train", 51), "cat"),
    ("animal", "What animal does the note below refer to? Choose between cat and dog.", ("pets", "train", 34), "dog"),
    ("animal", "Someone posted this on a pet forum. Which pet are they talking about?", ("pets", "train", 57), "cat"),
    ("animal", "Your task: decide if this text is about a cat or a dog, and write only that word.", ("pets", "train", 37), "dog"),
    ("animal", "Is the animal in question a cat or a dog?", ("pets", "train", 58), "cat"),
    ("animal", "Have a look at this note and tell me which pet it's about.", ("pets", "train", 41), "dog"),
    ("animal", "Choose one: cat, dog.", ("pets", "train", 61), "cat"),
    ("animal", "Identify the species (cat or dog) from the owner's description.", ("pets", "train", 43), "dog"),
    ("animal", "Which pet does this sound like?", ("pets", "train", 64), "cat"),
    ("animal", "Tell cat from dog: which one is this note about?", ("pets", "train", 45), "dog"),
    ("animal", "Here is a diary line from a pet owner. Respond with the kind of animal it describes.", ("pets", "train", 66), "cat"),
    ("animal", "What sort of animal lives in this house, judging by the note?", ("pets", "train", 48), "dog"),
    ("animal", "Predict the label for this pet note. Labels: cat, dog.", ("pets", "train", 72), "cat"),
    ("animal", "Is this owner describing their dog or their cat?", ("pets", "train", 52), "dog"),
    ("animal", "Without overthinking it: cat or dog?", ("pets", "train", 74), "cat"),
    ("animal", "Read the following and answer: does it describe a cat or a dog?", ("pets", "train", 53), "dog"),
    ("animal", "Which animal is behind this story?", ("pets", "train", 75), "cat"),
    ("animal", "Would a cat or a dog be more likely to do what this note describes?", ("pets", "train", 55), "dog"),
    ("animal", "Decide the pet. Only answer with cat or dog, nothing else.", ("pets", "train", 77), "cat"),
    ("animal", "Please classify the pet mentioned in this text.", ("pets", "train", 56), "dog"),
    ("animal", "A pet sitter received this note. What animal will they be looking after?", ("pets", "train", 79), "cat"),
    ("animal", "The note below is about someone's pet. Which kind?", ("pets", "train", 59), "dog"),
    ("animal", "Tell me: is this one a dog story or a cat story?", ("pets", "train", 81), "cat"),
    ("animal", "Categorise this note by animal.", ("pets", "train", 60), "dog"),
    ("animal", "Answer with the animal only. What pet is being described?", ("pets", "train", 82), "cat"),
    ("animal", "Which of these does the note describe: a cat, or a dog?", ("pets", "train", 62), "dog"),
    ("animal", "Owner's note incoming. Your job is to say cat or dog.", ("pets", "train", 83), "cat"),
    ("animal", "What's your guess, is the pet here a cat or a dog?", ("pets", "train", 65), "dog"),
    ("animal", "Determine the animal type referred to by the author.", ("pets", "train", 84), "cat"),
    ("animal", "Is it a cat that's being written about here, or a dog?", ("pets", "train", 67), "dog"),
    ("animal", "Pick the pet.", ("pets", "train", 86), "cat"),
    ("animal", "Consider the behaviour described. Does it belong to a cat or a dog?", ("pets", "train", 68), "dog"),
    ("animal", "From this short note, what animal do you think the owner has?", ("pets", "train", 89), "cat"),
    ("animal", "In one lowercase word, which pet is the subject of this note?", ("pets", "train", 70), "dog"),
    ("animal", "Which animal? Reply \"cat\" or \"dog\".", ("pets", "train", 91), "cat"),
    ("animal", "Cat or dog: what's the verdict?", ("pets", "train", 71), "dog"),
    ("animal", "Here's a note from an owner who forgot to say what their pet is. Fill in the blank for them.", ("pets", "train", 93), "cat"),
    ("animal", "Tag this note with its animal.", ("pets", "train", 73), "dog"),
    ("animal", "Decide which species this owner's comment is about.", ("pets", "train", 94), "cat"),
    ("animal", "Is this about the kitty or the pooch? Answer cat or dog.", ("pets", "train", 76), "dog"),
    ("animal", "Which animal is the owner grumbling about, lovingly, in this note?", ("pets", "train", 96), "cat"),
    ("animal", "Does the following message describe a dog or a cat? One word.", ("pets", "train", 78), "dog"),
    ("animal", "Read this pet note, then name the animal.", ("pets", "train", 98), "cat"),
    ("animal", "Cat, or is it a dog?", ("pets", "train", 80), "dog"),
    ("animal", "What pet are we talking about here?", ("pets", "train", 99), "cat"),
    ("animal", "Please tell me the animal (cat or dog) this text is about.", ("pets", "train", 85), "dog"),
    ("animal", "Spot the species.", ("pets", "train", 100), "cat"),
    ("animal", "The animal isn't named. Work it out: cat or dog?", ("pets", "train", 87), "dog"),
    ("animal", "Can you tell what kind of pet this is from the note alone?", ("pets", "train", 101), "cat"),
    ("animal", "Classify: cat vs dog.", ("pets", "train", 88), "dog"),
    ("animal", "Is the creature in this note a dog, or a cat?", ("pets", "train", 103), "cat"),
    ("animal", "State the pet type in lowercase.", ("pets", "train", 90), "dog"),
    ("animal", "What do you reckon?", ("pets", "train", 104), "cat"),
    ("animal", "Which pet wrote this? Only joking, its owner did. Cat or dog?", ("pets", "train", 92), "dog"),
    ("animal", "Determine from context whether the pet is a cat or a dog.", ("pets", "train", 105), "cat"),
    ("animal", "Given this note, output the animal label.", ("pets", "train", 95), "dog"),
    ("animal", "A reader sent in this anecdote. Which pet is it about?", ("pets", "train", 107), "cat"),
    ("animal", "Would you file this under cats or under dogs? Reply with the singular word.", ("pets", "train", 97), "dog"),
    ("animal", "Name the pet species, choosing cat or dog.", ("pets", "train", 111), "cat"),
    ("animal", "What animal is this? cat or dog only.", ("pets", "train", 102), "dog"),
    ("animal", "Is this a note about a cat, or about a dog?", ("pets", "train", 112), "cat"),
    ("animal", "Which pet is described? Give the answer as a single word.", ("pets", "train", 106), "dog"),
    ("animal", "Here's an owner's note. Which animal?", ("pets", "train", 113), "cat"),
    ("animal", "Let me know whether you think this note is about a cat or a dog.", ("pets", "train", 108), "dog"),
    ("animal", "Whose antics are these, a cat's or a dog's?", ("pets", "train", 115), "cat"),
    ("animal", "Cat or dog? Read the note first.", ("pets", "train", 109), "dog"),
    ("animal", "Please read the pet note below and classify the animal.", ("pets", "train", 117), "cat"),
    ("animal", "Which animal fits this description?", ("pets", "train", 110), "dog"),
    ("animal", "Judging by the behaviour, which pet is it?", ("pets", "train", 119), "cat"),
    ("animal", "What type of animal does this owner keep? Reply cat or dog.", ("pets", "train", 114), "dog"),
    ("animal", "Is the pet a dog? Or a cat? Tell me which.", ("pets", "train", 121), "cat"),
    ("animal", "Decide: cat or dog.", ("pets", "train", 116), "dog"),
    ("animal", "Identify whether the animal in this note is feline or canine, answering cat or dog.", ("pets", "train", 125), "cat"),
    ("animal", "This is a short note from a pet owner. What is the pet?", ("pets", "train", 118), "dog"),
    ("animal", "Which animal do you picture when you read this?", ("pets", "train", 126), "cat"),
    ("animal", "Give me the animal: cat or dog.", ("pets", "train", 120), "dog"),
    ("animal", "Based on the note, the pet is a ___. Fill in cat or dog.", ("pets", "train", 127), "cat"),
    ("animal", "Is the note's subject a dog or a cat?", ("pets", "train", 122), "dog"),
    ("animal", "Which one, the cat or the dog?", ("pets", "train", 128), "cat"),
    ("animal", "What kind of animal is the owner describing? Choose cat or dog.", ("pets", "train", 131), "dog"),
    ("animal", "Read the owner's message and classify the pet as cat or dog.", ("pets", "train", 130), "cat"),
    ("animal", "Animal?", ("pets", "train", 133), "dog"),
    ("animal", "A quick pet note: which animal is it about?", ("pets", "train", 132), "cat"),
    ("animal", "Would you say this is a cat or a dog? Please answer with just the animal.", ("pets", "train", 135), "dog"),
    ("animal", "Which pet is the owner writing about here?", ("pets", "train", 134), "cat"),
    ("animal", "Cat or dog, going only on this note?", ("pets", "train", 138), "dog"),
    ("animal", "Please label the note: cat or dog.", ("pets", "train", 136), "cat"),
    ("animal", "Which species does this anecdote concern?", ("pets", "train", 139), "dog"),
    ("animal", "Who's the star of this note, a cat or a dog?", ("pets", "train", 143), "cat"),
    ("animal", "Settle a bet for me: is this about a cat or a dog?", ("pets", "train", 142), "dog"),
    ("animal", "Tell me the animal this note describes, in lowercase.", ("pets", "train", 145), "cat"),
    ("animal", "Is this pet a cat or a dog? Explain nothing, just answer.", ("pets", "train", 144), "dog"),
    ("animal", "Which animal is it? The choices are cat and dog.", ("pets", "train", 148), "cat"),
    ("animal", "I can't tell whether this is about a cat or a dog. Can you?", ("pets", "train", 146), "dog"),
    ("animal", "Read and classify (cat/dog).", ("pets", "train", 209), "cat"),
    ("animal", "Does this note point to a cat or a dog?", ("pets", "train", 147), "dog"),
    ("animal", "Please work out which pet this owner lives with.", ("pets", "train", 213), "cat"),
    ("animal", "Determine the pet, answering cat or dog.", ("pets", "train", 151), "dog"),
    ("animal", "Which is it, dog or cat?", ("pets", "train", 216), "cat"),
    ("animal", "What pet is mentioned in this diary entry? Answer with one word.", ("pets", "train", 207), "dog"),
    ("animal", "The following was written by someone about their pet. Output cat or dog.", ("pets", "train", 220), "cat"),
    ("animal", "Which animal does this remind you of?", ("pets", "train", 208), "dog"),
    ("animal", "In this note, is the owner talking about a cat or a dog?", ("pets", "train", 222), "cat"),
    ("animal", "Hmm, cat or dog? You decide.", ("pets", "train", 210), "dog"),
    ("animal", "What animal is the author's pet?", ("pets", "train", 224), "cat"),
    ("animal", "Categorise this pet note as cat or dog.", ("pets", "train", 211), "dog"),
    ("animal", "Is this owner's pet more likely a cat or a dog?", ("pets", "train", 226), "cat"),
    ("animal", "Give the species of the pet described below.", ("pets", "train", 212), "dog"),
    ("animal", "Please answer with the pet type only.", ("pets", "train", 228), "cat"),
    ("animal", "Here is a note. Say whether it describes a cat or a dog.", ("pets", "train", 215), "dog"),
    ("animal", "Which animal has been up to something in this note?", ("pets", "train", 232), "cat"),
    ("animal", "What's the pet? Cat or dog, please.", ("pets", "train", 217), "dog"),
    ("animal", "Identify the pet in the note below.", ("pets", "train", 234), "cat"),
    ("animal", "Read this note about a pet and tell me: cat or dog?", ("pets", "train", 218), "dog"),
    ("animal", "Which is the owner writing about: their dog or their cat?", ("pets", "train", 236), "cat"),
    ("animal", "Say the animal.", ("pets", "train", 219), "dog"),
    ("animal", "Is the pet here a cat or dog?", ("pets", "train", 239), "cat"),
    ("animal", "Tell me which animal the note is about, using one word.", ("pets", "train", 221), "dog"),
    ("animal", "Decide whether the following describes a dog or a cat and reply in lowercase.", ("pets", "train", 242), "cat"),
    ("animal", "Which household pet is this?", ("pets", "train", 223), "dog"),
    # ------------------------------------------------------------------ desk (clinic/train.csv)
    ("desk", "Which desk at the vet clinic should handle this message?", ("clinic", "train", 0), "adoption"),
    ("desk", "Route this message to the right team. Options: adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription, shop.", ("clinic", "train", 8), "appointment"),
    ("desk", "Where should reception forward this?", ("clinic", "train", 5), "billing"),
    ("desk", "A client sent this to the clinic. Which department deals with it?", ("clinic", "train", 3), "complaint"),
    ("desk", "Pick the desk (adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription or shop) for this text.", ("clinic", "train", 6), "emergency"),
    ("desk", "Classify this clinic message by the desk that has to act on it.", ("clinic", "train", 2), "grooming"),
    ("desk", "Who at the practice needs to see this?", ("clinic", "train", 18), "lost_found"),
    ("desk", "Which team should pick this up? It might be billing, the shop, grooming, or one of the other desks.", ("clinic", "train", 23), "praise"),
    ("desk", "Send this message to the correct desk. Answer with the desk name only.", ("clinic", "train", 27), "prescription"),
    ("desk", "Front desk triage: which queue does this go in?", ("clinic", "train", 55), "shop"),
    ("desk", "Tell me which department of the vet practice this message belongs to.", ("clinic", "train", 12), "adoption"),
    ("desk", "This came in through the website. Where does it go?", ("clinic", "train", 22), "appointment"),
    ("desk", "Which of the ten clinic desks should answer this?", ("clinic", "train", 14), "billing"),
    ("desk", "Decide the routing label for this message.", ("clinic", "train", 15), "complaint"),
    ("desk", "Is this for appointments, prescriptions, the shop, or someone else? Give the desk.", ("clinic", "train", 9), "emergency"),
    ("desk", "Assign this vet clinic message to a team.", ("clinic", "train", 11), "grooming"),
    ("desk", "Route it.", ("clinic", "train", 35), "lost_found"),
    ("desk", "What desk label fits this message from a client?", ("clinic", "train", 36), "praise"),
    ("desk", "Please forward this to the right place. Which desk?", ("clinic", "train", 60), "prescription"),
    ("desk", "Which department? Reply with one label.", ("clinic", "train", 56), "shop"),
    ("desk", "The clinic has desks for adoption, appointments, billing, complaints, emergencies, grooming, lost and found, praise, prescriptions and the shop. Where does this message belong?", ("clinic", "train", 16), "adoption"),
    ("desk", "Which inbox should this land in?", ("clinic", "train", 25), "appointment"),
    ("desk", "You're on reception at a veterinary practice. Where do you send this?", ("clinic", "train", 19), "billing"),
    ("desk", "Label this message with its desk, for example billing, grooming or lost_found.", ("clinic", "train", 65), "complaint"),
    ("desk", "Which team needs to act on the following message?", ("clinic", "train", 13), "emergency"),
    ("desk", "Give the desk this message should be routed to.", ("clinic", "train", 39), "grooming"),
    ("desk", "Hi! Could you tell me which department handles a message like this?", ("clinic", "train", 54), "lost_found"),
    ("desk", "Triage this client message to one desk.", ("clinic", "train", 40), "praise"),
    ("desk", "Who should deal with this: the groomers, the shop, the nurses, the accounts team, or someone else? Answer with the desk label.", ("clinic", "train", 70), "prescription"),
    ("desk", "Identify the correct desk for this message.", ("clinic", "train", 74), "shop"),
    ("desk", "Where would this email be sent within the practice?", ("clinic", "train", 20), "adoption"),
    ("desk", "Categorise this enquiry by department.", ("clinic", "train", 37), "appointment"),
    ("desk", "Which clinic team is this for?", ("clinic", "train", 26), "billing"),
    ("desk", "Read the message and name the desk that should handle it.", ("clinic", "train", 79), "complaint"),
    ("desk", "A pet owner wrote to the vets. Which desk handles it?", ("clinic", "train", 52), "emergency"),
    ("desk", "Department, please.", ("clinic", "train", 49), "grooming"),
    ("desk", "Route this to adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription, or shop.", ("clinic", "train", 73), "lost_found"),
    ("desk", "What's the right desk for this one?", ("clinic", "train", 45), "praise"),
    ("desk", "Where does this go? Think reception, accounts, the grooming room, the dispensary and so on, and give the desk label.", ("clinic", "train", 80), "prescription"),
    ("desk", "Which department of the clinic is responsible for replying?", ("clinic", "train", 91), "shop"),
    ("desk", "Message for the vets. Which desk?", ("clinic", "train", 29), "adoption"),
    ("desk", "Which desk label applies? Use one of: adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription, shop.", ("clinic", "train", 63), "appointment"),
    ("desk", "Who do I pass this on to?", ("clinic", "train", 33), "billing"),
    ("desk", "Name the team at the clinic that should act on this.", ("clinic", "train", 82), "complaint"),
    ("desk", "Read this and tell me which desk it needs to go to.", ("clinic", "train", 68), "emergency"),
    ("desk", "Your pick of desk?", ("clinic", "train", 53), "grooming"),
    ("desk", "Figure out the department for this incoming message.", ("clinic", "train", 81), "lost_found"),
    ("desk", "Please sort this message into the right desk's tray.", ("clinic", "train", 89), "praise"),
    ("desk", "If you worked the front desk here, whose pile would this go on? Answer with the desk.", ("clinic", "train", 84), "prescription"),
    ("desk", "Classify the message: which desk at the practice should take it?", ("clinic", "train", 119), "shop"),
    ("desk", "Routing question: which desk?", ("clinic", "train", 83), "adoption"),
    ("desk", "Decide which of the practice's desks this belongs to.", ("clinic", "train", 93), "appointment"),
    ("desk", "The message below reached the vet clinic. Route it to a desk.", ("clinic", "train", 165), "billing"),
    ("desk", "Which section of the clinic should reply to this? Give one label such as praise, complaint or shop.", ("clinic", "train", 96), "complaint"),
    ("desk", "Where should this be sent?", ("clinic", "train", 100), "emergency"),
    ("desk", "Give me the desk for this message, nothing else.", ("clinic", "train", 58), "grooming"),
    ("desk", "What team handles this kind of message?", ("clinic", "train", 117), "lost_found"),
    ("desk", "Work out who at the vets should read this.", ("clinic", "train", 95), "praise"),
    ("desk", "To which desk would you direct this client?", ("clinic", "train", 88), "prescription"),
    ("desk", "Which desk label is correct here?", ("clinic", "train", 136), "shop"),
    ("desk", "Please categorise this message for the clinic's inbox: adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription or shop?", ("clinic", "train", 115), "adoption"),
    ("desk", "Who handles this, do you think?", ("clinic", "train", 97), "appointment"),
    ("desk", "Sort this enquiry to a department.", ("clinic", "train", 173), "billing"),
    ("desk", "This needs to reach someone at the practice. Which desk?", ("clinic", "train", 122), "complaint"),
    ("desk", "Which team is this one heading for?", ("clinic", "train", 108), "emergency"),
    ("desk", "Who replies to this one, desk-wise?", ("clinic", "train", 99), "grooming"),
    ("desk", "Assign a desk label to this message.", ("clinic", "train", 123), "lost_found"),
    ("desk", "What desk does this belong to?", ("clinic", "train", 125), "praise"),
    ("desk", "Where in the clinic does this go? One word or label.", ("clinic", "train", 113), "prescription"),
    ("desk", "Choose the department that should handle this text.", ("clinic", "train", 145), "shop"),
    ("desk", "Which of the vet practice's teams should this be passed to?", ("clinic", "train", 124), "adoption"),
    ("desk", "Decide where this message goes. Possible desks include appointment, billing, prescription and shop, among others.", ("clinic", "train", 102), "appointment"),
    ("desk", "A message has arrived. Which desk?", ("clinic", "train", 181), "billing"),
    ("desk", "Label the desk for the following client message.", ("clinic", "train", 126), "complaint"),
    ("desk", "Route the message below.", ("clinic", "train", 137), "emergency"),
    ("desk", "What department does this enquiry concern?", ("clinic", "train", 130), "grooming"),
    ("desk", "Who should get this?", ("clinic", "train", 131), "lost_found"),
    ("desk", "Read the customer's message. Which clinic desk does it go to?", ("clinic", "train", 157), "praise"),
    ("desk", "Pick a desk for this one.", ("clinic", "train", 116), "prescription"),
    ("desk", "Which team at the clinic owns this request?", ("clinic", "train", 152), "shop"),
    ("desk", "Forward to which desk?", ("clinic", "train", 178), "adoption"),
    ("desk", "Which desk would you route this client's text to?", ("clinic", "train", 146), "appointment"),
    ("desk", "Identify the department this message should go to.", ("clinic", "train", 203), "billing"),
    ("desk", "Please route this message. Answer with a desk label only.", ("clinic", "train", 135), "complaint"),
    ("desk", "Which desk needs to see this message?", ("clinic", "train", 179), "emergency"),
    ("desk", "Where should this message be filed?", ("clinic", "train", 159), "grooming"),
    ("desk", "Triage: which desk?", ("clinic", "train", 140), "lost_found"),
    ("desk", "Decide which team this message is meant for.", ("clinic", "train", 162), "praise"),
    ("desk", "Which clinic desk handles questions like this?", ("clinic", "train", 127), "prescription"),
    ("desk", "To which team should this go?", ("clinic", "train", 161), "shop"),
    ("desk", "The practice sorts messages into ten desks. Which one gets this?", ("clinic", "train", 183), "adoption"),
    ("desk", "Which department at the vets should respond to this?", ("clinic", "train", 185), "appointment"),
    ("desk", "Give the routing label.", ("clinic", "train", 263), "billing"),
    ("desk", "Choose a desk: adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription, shop.", ("clinic", "train", 139), "complaint"),
    ("desk", "Who's this for?", ("clinic", "train", 184), "emergency"),
    ("desk", "Who in the building should this go to? Answer with a desk.", ("clinic", "train", 202), "grooming"),
    ("desk", "Who takes care of this at the clinic? Give their desk.", ("clinic", "train", 142), "lost_found"),
    ("desk", "Tell me which desk to send this to.", ("clinic", "train", 174), "praise"),
    ("desk", "Which inbox at the clinic is right for this message?", ("clinic", "train", 141), "prescription"),
    ("desk", "Desk?", ("clinic", "train", 168), "shop"),
    ("desk", "Where should this go within the vet clinic? Give the desk label.", ("clinic", "train", 189), "adoption"),
    ("desk", "Classify this message into one of the clinic's desks.", ("clinic", "train", 208), "appointment"),
    ("desk", "Which part of the practice deals with this?", ("clinic", "train", 288), "billing"),
    ("desk", "Where does this one belong?", ("clinic", "train", 216), "complaint"),
    ("desk", "Please read and route to the correct desk.", ("clinic", "train", 223), "emergency"),
    ("desk", "Which team should reply to this client?", ("clinic", "train", 236), "grooming"),
    ("desk", "Which label does this message get?", ("clinic", "train", 191), "lost_found"),
    ("desk", "Desk assignment for this message?", ("clinic", "train", 217), "praise"),
    ("desk", "Name the desk.", ("clinic", "train", 196), "prescription"),
    ("desk", "Send to which department?", ("clinic", "train", 252), "shop"),
    ("desk", "If you were sorting the clinic's post, which desk would this go to?", ("clinic", "train", 209), "adoption"),
    ("desk", "Work out which desk handles this one.", ("clinic", "train", 280), "appointment"),
    ("desk", "Which member of staff should pick this up? Reply with their desk.", ("clinic", "train", 61), "billing"),
    ("desk", "Which desk is responsible for this?", ("clinic", "train", 242), "complaint"),
    ("desk", "Where should the receptionist put this message?", ("clinic", "train", 274), "emergency"),
    ("desk", "What's the desk for this message?", ("clinic", "train", 271), "grooming"),
    ("desk", "For which department is this message intended?", ("clinic", "train", 198), "lost_found"),
    ("desk", "Please pick the right team for this message.", ("clinic", "train", 248), "praise"),
    ("desk", "Who at the clinic needs this one?", ("clinic", "train", 200), "prescription"),
    ("desk", "Which clinic team?", ("clinic", "train", 276), "shop"),
    # ------------------------------------------------------------------ rewrite (hand-written)
    ("rewrite", "Make this message to the clinic more polite.",
     "I need my dog's tablets today. Sort it out.",
     "Hello, could my dog's tablets please be ready today? Thank you very much."),
    ("rewrite", "Shorten this to one sentence.",
     "We were away on holiday for two weeks and our neighbour fed the cat, and now that we are back she won't come into the house at all.",
     "Since we got back from two weeks away, our cat refuses to come indoors."),
    ("rewrite", "Turn these notes into a one-line reminder.",
     "vet thurs 10am / bring vaccination card / no breakfast for Rex",
     "Thursday 10am vet: bring Rex's vaccination card and don't give him breakfast."),
    ("rewrite", "Rewrite this for a six-year-old.",
     "The veterinarian administered a vaccination to protect the animal against infectious disease.",
     "The vet gave the pet a quick injection so it won't catch nasty germs."),
    ("rewrite", "Give this note a short title.",
     "Our dog dug up every tulip in the front garden and then fell asleep in the hole.",
     "The Great Tulip Dig"),
    ("rewrite", "Make the tone friendlier.",
     "Your appointment is cancelled. Rebook online.",
     "Sorry, we've had to cancel your appointment. You can book a new time online whenever it suits you."),
    ("rewrite", "Fix the spelling and punctuation.",
     "my cat hasnt eaten her biscits since tuesday is that normal",
     "My cat hasn't eaten her biscuits since Tuesday. Is that normal?"),
    ("rewrite", "Write a one-sentence reminder to give the rabbit fresh hay every morning.",
     "",
     "Remember: fresh hay for the rabbit every morning."),
    ("rewrite", "Make this calmer and less alarming.",
     "URGENT!!! Rabbit not eating!!! Somebody call me NOW!!!",
     "Our rabbit has stopped eating. Could someone call me back today, please?"),
    ("rewrite", "Turn this into a polite complaint.",
     "You kept me waiting an hour. Useless.",
     "I waited an hour past my appointment time today. Could you let me know what went wrong?"),
    ("rewrite", "Rewrite this as a casual text to a partner.",
     "The veterinary nurse has advised that the dog requires a weight reduction of two kilograms.",
     "Nurse says the dog needs to lose two kilos. No more toast for him!"),
    ("rewrite", "Summarise this in five words or fewer.",
     "The hamster escaped from his cage overnight and we eventually found him asleep inside a slipper in the hallway.",
     "Escaped hamster found in slipper."),
    ("rewrite", "Make this sound more professional.",
     "hey can u guys check if my cats chip is working thx",
     "Good afternoon, could you please check that my cat's microchip is working? Thank you."),
    ("rewrite", "Rewrite this sign for the waiting room so it sounds welcoming.",
     "NO DOGS OFF LEADS. NO CATS OUT OF CARRIERS.",
     "To keep everyone calm, please keep dogs on their leads and cats in their carriers. Thank you!"),
    ("rewrite", "For the pet sitter: join these notes up into one sentence.",
     "feed 7am and 6pm; half a pouch each time; fresh water; brush on Sunday",
     "Please feed her half a pouch at 7am and 6pm, keep her water fresh, and give her a brush on Sunday."),
    ("rewrite", "Say this more kindly.",
     "Your dog is fat.",
     "Your dog is carrying a bit of extra weight, so let's talk about gentle ways to bring it down."),
    ("rewrite", "Put it in the past tense.",
     "The puppy chews the lead, runs round the garden and falls asleep on the step.",
     "The puppy chewed the lead, ran round the garden and fell asleep on the step."),
    ("rewrite", "Give this clinic message a subject line.",
     "Hello, I'd like to change the address on my dog's microchip record because we've moved house.",
     "Microchip address change"),
    ("rewrite", "Can you jazz this up so it's more enthusiastic?",
     "The grooming was fine.",
     "The grooming was brilliant, thank you! He looks and smells wonderful."),
    ("rewrite", "A client sent us a kind card. Reply with a short, friendly thank-you.",
     "",
     "Thank you so much for your lovely card. It made the whole team smile, and we're so glad we could help."),
    ("rewrite", "Cut this down to under ten words.",
     "I am writing to let you know that unfortunately I will not be able to attend the appointment that I booked for tomorrow morning.",
     "Sorry, I can't make tomorrow morning's appointment."),
    ("rewrite", "Rephrase so that it doesn't sound like blame.",
     "You gave my dog the wrong food.",
     "I think there may have been a mix-up with my dog's food. Could we check it together?"),
    ("rewrite", "Fridge-note version, please.",
     "Remember the cat has her thyroid tablet with breakfast and again with dinner, hidden in a bit of tuna.",
     "Cat: thyroid tablet in tuna, breakfast and dinner."),
    ("rewrite", "How would you say this to a little kid?",
     "Cats require a quiet, secure place to withdraw to when they are stressed.",
     "When cats feel worried, they need a quiet, safe spot where they can hide and rest."),
    ("rewrite", "Our class blog needs a title for this post.",
     "Our class guinea pigs, Pepper and Salt, came home with us over the holidays and learned to squeak whenever the fridge opened.",
     "Pepper and Salt's Holiday Adventure"),
    ("rewrite", "Add some manners to this request.",
     "Send me the invoice.",
     "Could you please send me a copy of the invoice when you have a moment? Thank you."),
    ("rewrite", "Loosen this up; it's far too stiff.",
     "We kindly request that all clients arrive ten minutes before their scheduled appointment.",
     "Please try to get here about ten minutes before your appointment."),
    ("rewrite", "Fix the grammar in this note.",
     "The dogs bowl have been leave outside all night and now it full of rain.",
     "The dog's bowl has been left outside all night, and now it's full of rain."),
    ("rewrite", "Jot down a one-line reminder about the monthly flea treatment for both pets.",
     "",
     "Flea treatment for both pets on the first of every month."),
    ("rewrite", "This was written in anger. Calm it down.",
     "WHY has nobody rung me back?! Third time asking!!",
     "I've asked three times now for a call back and haven't heard anything. Could someone ring me today, please?"),
    ("rewrite", "Shorten this message so it fits in a quick text.",
     "Hello there, I just wanted to let you know that we are running about fifteen minutes late for our appointment because of the traffic. Sorry about that.",
     "Running 15 mins late, traffic. Sorry!"),
    ("rewrite", "Come up with a funny headline for this.",
     "He stole a whole sausage off the barbecue and ran three laps of the garden with it.",
     "The Great Sausage Heist"),
    ("rewrite", "Write this as a polite notice for the clinic's front door.",
     "closed bank holiday monday, emergencies ring the usual number",
     "We are closed on bank holiday Monday. For emergencies, please ring our usual number and you'll be put through."),
    ("rewrite", "Reword this so it sounds reassuring.",
     "Your rabbit needs an operation under anaesthetic.",
     "Your rabbit needs an operation. She'll be asleep throughout, and our team will look after her carefully."),
    ("rewrite", "My neighbour needs to hear this, but nicely. Can you reword it?",
     "Your cat keeps coming in our house. Stop it.",
     "Hi! Your lovely cat keeps popping into our house. Could we have a chat about ways to keep her at home?"),
    ("rewrite", "Turn these sitter's notes into a short update for the owner.",
     "walked twice a day, ate all meals, slept on sofa, no problems",
     "All well here! Two walks a day, every meal eaten, plenty of naps on the sofa and no problems at all."),
    ("rewrite", "Rewrite for a child who is sad about their old dog.",
     "The dog is elderly and his health is declining.",
     "Your dog is very old now and his body is getting tired, so he needs lots of gentle love."),
    ("rewrite", "Tighten this sentence up without changing what it says.",
     "In the event that your pet experiences any form of vomiting after the procedure, please get in touch with us immediately.",
     "If your pet is sick after the procedure, call us straight away."),
    ("rewrite", "Add a polite greeting and sign-off to this message.",
     "Can Molly's nail trim move to Friday?",
     "Hello, can Molly's nail trim move to Friday? Many thanks."),
    ("rewrite", "Put this in plain English.",
     "Post-operative analgesia should be administered at twelve-hour intervals.",
     "Give the pain medicine every twelve hours after the operation."),
    ("rewrite", "Shelf label for the shop: describe a good pet carrier in one sentence.",
     "",
     "A sturdy, top-opening carrier with good airflow that makes vet trips easier for cats and small dogs."),
    ("rewrite", "Change this into a question.",
     "I would like to book a nail trim for my rabbit.",
     "Could I book a nail trim for my rabbit, please?"),
    ("rewrite", "Tone this review down so it sounds measured.",
     "BEST VETS IN THE WORLD!!! PERFECT IN EVERY WAY!!!",
     "Caring, friendly vets. We were very pleased with our visit and would recommend them."),
    ("rewrite", "Rewrite this as a friendly reminder text from the clinic.",
     "Booster due. Book now.",
     "Hi! Just a reminder that your pet's booster is due soon. Reply or give us a call to book a time that suits."),
    ("rewrite", "Give this a headline for the clinic newsletter.",
     "This spring the clinic's nurses ran free weight checks for older dogs and helped forty of them shed a few kilos.",
     "Forty Older Dogs Slim Down with Nurse Weight Checks"),
    ("rewrite", "List the items as a quick checklist.",
     "Before the puppy comes home you'll need a bed, some food bowls, a collar with a tag, and puppy food.",
     "Bed; food bowls; collar with tag; puppy food."),
    ("rewrite", "Make this apology sound sincere.",
     "Sorry about the mix-up or whatever.",
     "We're truly sorry for the mix-up. It shouldn't have happened, and we're making sure it doesn't happen again."),
    ("rewrite", "Rewrite this as a note from the cat's point of view.",
     "Please don't let the cat out after dark.",
     "Dear humans, I know I'll ask, but please keep me in after dark. Yours, the cat."),
    ("rewrite", "Shorten this to a two-line social media update.",
     "After three weeks of searching, calling every shelter and putting up posters, we are overjoyed to say that our tortoise has been found safe in a neighbour's vegetable patch.",
     "Found! Our tortoise turned up safe in a neighbour's veg patch after three weeks. Thank you, everyone!"),
    ("rewrite", "I keep forgetting to book the dog's groom. Write me a reminder.",
     "",
     "Reminder: book the dog in for a groom."),
    ("rewrite", "I can't follow this message. Tidy it into something clear.",
     "the thing for the ears, the drops, we need more, the same as before, for Biscuit",
     "Please could we have more of Biscuit's ear drops, the same as last time?"),
    ("rewrite", "This sounds bossy. Can it be softer?",
     "Bring your dog in on a lead. Keep cats in a box.",
     "We'd be grateful if dogs could come in on a lead and cats in a carrier."),
    ("rewrite", "What would you call this little story?",
     "The kitten climbed the Christmas tree, knocked off three baubles and fell asleep on the top branch.",
     "Asleep at the Top of the Tree"),
    ("rewrite", "Too wordy. Rewrite it concisely.",
     "I'm just wondering, if it isn't too much trouble, whether there might be any chance at all of getting an appointment at some point this week.",
     "Is there an appointment free this week?"),
    ("rewrite", "Rewrite gently, for a worried owner.",
     "Test results abnormal. Come in.",
     "Some of the test results need a closer look. Could you come in so we can talk them through together?"),
    ("rewrite", "Rewrite this for the shop counter, nicely.",
     "Want the big bag of rabbit food.",
     "Could you put aside a large bag of rabbit food for me, please?"),
    ("rewrite", "Use simpler words for this.",
     "Ensure the enclosure is adequately ventilated and devoid of draughts.",
     "Make sure the hutch gets fresh air but isn't draughty."),
    ("rewrite", "Write a short caption for a photo of a sleeping puppy.",
     "",
     "Tired out after his very first walk."),
    ("rewrite", "Brighten up this reminder.",
     "Worm the dog.",
     "Wormer day! Time for the dog's tablet, then a treat."),
    ("rewrite", "Tidy this note so it reads as one sentence.",
     "Guinea pigs. Need vitamin C. Every day. Fresh peppers are good.",
     "Guinea pigs need vitamin C every day, and fresh peppers are a good source."),
]

TEST = [
    # ------------------------------------------------------------------ animal (pets/test.csv)
    ("animal", "Single word, please: is this a cat or a dog?", ("pets", "test", 6), "cat"),
    ("animal", "Penned by a pet owner: what is their animal?", ("pets", "test", 0), "dog"),
    ("animal", "Owner's jotting below. Would you put it down as cat or dog?", ("pets", "test", 7), "cat"),
    ("animal", "Which pet features in this note?", ("pets", "test", 1), "dog"),
    ("animal", "What animal is being written about below?", ("pets", "test", 9), "cat"),
    ("animal", "Go on then, dog or cat?", ("pets", "test", 2), "dog"),
    ("animal", "Is the pet described here a cat, or is it a dog? Reply in one word.", ("pets", "test", 13), "cat"),
    ("animal", "Entry below. Tell me the animal in it.", ("pets", "test", 3), "dog"),
    ("animal", "Have a guess at the pet.", ("pets", "test", 14), "cat"),
    ("animal", "Who would get up to this sort of thing, a cat or a dog?", ("pets", "test", 4), "dog"),
    ("animal", "Dog or cat: who was this written about?", ("pets", "test", 17), "cat"),
    ("animal", "This owner is going on about their pet. Which sort?", ("pets", "test", 5), "dog"),
    ("animal", "Your label for this one, please: cat or dog?", ("pets", "test", 18), "cat"),
    ("animal", "Here is an owner's note with the animal left out. Supply the missing animal.", ("pets", "test", 8), "dog"),
    ("animal", "Cat or dog, in your opinion?", ("pets", "test", 20), "cat"),
    ("animal", "This text describes one of two species. Cat or dog?", ("pets", "test", 10), "dog"),
    ("animal", "Look over the note and give your answer as cat or dog.", ("pets", "test", 21), "cat"),
    ("animal", "Respond in one lowercase word: what animal does the writer own?", ("pets", "test", 11), "dog"),
    ("animal", "Going by this alone, which pet lives with the writer?", ("pets", "test", 23), "cat"),
    ("animal", "Pick cat or dog for this one.", ("pets", "test", 12), "dog"),
    ("animal", "Out of the two usual suspects, which pet is it?", ("pets", "test", 24), "cat"),
    ("animal", "Would you lean cat or dog after reading this?", ("pets", "test", 19), "dog"),
    ("animal", "Establish the species from the note that follows.", ("pets", "test", 25), "cat"),
    ("animal", "Cat or dog: what is the owner commenting on?", ("pets", "test", 22), "dog"),
    ("animal", "Put this short text under the right animal.", ("pets", "test", 28), "cat"),
    ("animal", "Who shares this person's home, a cat or a dog?", ("pets", "test", 26), "dog"),
    ("animal", "Whose note is this about? Name the animal.", ("pets", "test", 30), "cat"),
    ("animal", "Quick: which pet?", ("pets", "test", 27), "dog"),
    ("animal", "Given what's written, which animal is it?", ("pets", "test", 32), "cat"),
    ("animal", "Which animal does the owner have in mind?", ("pets", "test", 29), "dog"),
    ("animal", "Two options, cat and dog. Which fits?", ("pets", "test", 39), "cat"),
    ("animal", "The text below comes from a pet owner. Cat or dog in their house?", ("pets", "test", 31), "dog"),
    ("animal", "Which animal is responsible for the events in this note?", ("pets", "test", 44), "cat"),
    ("animal", "Is it the dog or the cat, would you say?", ("pets", "test", 33), "dog"),
    ("animal", "What animal? Just the word.", ("pets", "test", 51), "cat"),
    ("animal", "Species of the pet, as far as you can tell?", ("pets", "test", 34), "dog"),
    ("animal", "Typical of a dog, or of a cat?", ("pets", "test", 54), "cat"),
    ("animal", "Owner's description below; the animal, please.", ("pets", "test", 37), "dog"),
    ("animal", "Name that pet!", ("pets", "test", 56), "cat"),
    ("animal", "Say cat or say dog for this note.", ("pets", "test", 38), "dog"),
    # ------------------------------------------------------------------ desk (clinic/test.csv)
    ("desk", "Reception has just opened this message. Who gets it next?", ("clinic", "test", 6), "adoption"),
    ("desk", "Below is a message sent to a veterinary practice. Answer with whichever of these fits: adoption, appointment, billing, complaint, emergency, grooming, lost_found, praise, prescription, shop.", ("clinic", "test", 31), "appointment"),
    ("desk", "Where at the practice should this enquiry end up?", ("clinic", "test", 23), "billing"),
    ("desk", "Which department is the right one for the message below?", ("clinic", "test", 13), "complaint"),
    ("desk", "Fresh in the clinic's inbox. Which team takes it on?", ("clinic", "test", 2), "emergency"),
    ("desk", "And the desk is...?", ("clinic", "test", 14), "grooming"),
    ("desk", "Routing for this client's note?", ("clinic", "test", 17), "lost_found"),
    ("desk", "Ten desks, one message. Which desk do you hand it to?", ("clinic", "test", 37), "praise"),
    ("desk", "Any idea which team ought to respond here?", ("clinic", "test", 11), "prescription"),
    ("desk", "Which desk gets this? Give just its label.", ("clinic", "test", 4), "shop"),
    ("desk", "One for which desk, would you say?", ("clinic", "test", 52), "adoption"),
    ("desk", "Which department should get back to this person?", ("clinic", "test", 42), "appointment"),
    ("desk", "Classify by desk (adoption / appointment / billing / complaint / emergency / grooming / lost_found / praise / prescription / shop) the message that follows.", ("clinic", "test", 29), "billing"),
    ("desk", "You run reception. Which desk receives this?", ("clinic", "test", 26), "complaint"),
    ("desk", "This message belongs somewhere in the clinic. Where?", ("clinic", "test", 28), "emergency"),
    ("desk", "Route the client's message to its desk, giving only the label.", ("clinic", "test", 16), "grooming"),
    ("desk", "Whose in-tray should this go in?", ("clinic", "test", 54), "lost_found"),
    ("desk", "Correct desk, please.", ("clinic", "test", 59), "praise"),
    ("desk", "Whose job is this request at the vets?", ("clinic", "test", 44), "prescription"),
    ("desk", "Accounts, dispensary, shop counter, somewhere else? Name the desk for this.", ("clinic", "test", 33), "shop"),
    ("desk", "If this landed on the front desk, where would it be sent on to?", ("clinic", "test", 78), "adoption"),
    ("desk", "Where does this land, desk-wise?", ("clinic", "test", 91), "appointment"),
    ("desk", "Answer with a single desk label: who handles this?", ("clinic", "test", 99), "billing"),
    ("desk", "Which desk should receive the following?", ("clinic", "test", 43), "complaint"),
    ("desk", "An owner has emailed the surgery. Route their message.", ("clinic", "test", 86), "emergency"),
    ("desk", "Which people at the clinic should see to this?", ("clinic", "test", 62), "grooming"),
    ("desk", "Point this message at the team that can help.", ("clinic", "test", 65), "lost_found"),
    ("desk", "Where would the clinic route this?", ("clinic", "test", 60), "praise"),
    ("desk", "Which team should look at this request?", ("clinic", "test", 66), "prescription"),
    ("desk", "Give the clinic desk that fits.", ("clinic", "test", 48), "shop"),
    # ------------------------------------------------------------------ rewrite (hand-written)
    ("rewrite", "Could you rephrase this so it's more courteous?",
     "Ring me back. I've waited all day.",
     "Could someone ring me back when possible? I've been waiting since this morning. Thank you."),
    ("rewrite", "Boil this down to a single short sentence.",
     "Just to let you know, the kitten is settling in really well, she's eating all her food and she's already using the tray without any accidents at all.",
     "The kitten is settling in well: eating everything and using the tray."),
    ("rewrite", "These jottings need to become a single reminder line.",
     "sat 9am groomer / take the blue lead / pay cash",
     "Saturday 9am groomer: blue lead and cash."),
    ("rewrite", "Explain this to a five-year-old.",
     "Dogs pant to regulate their body temperature.",
     "Dogs breathe fast with their tongues out to cool themselves down when they're hot."),
    ("rewrite", "Suggest a title for this.",
     "Every morning at six the parrot says hello in my dad's voice and then laughs at its own joke.",
     "The Parrot Who Wakes Us Up"),
    ("rewrite", "Soften the tone of this message.",
     "Your bill is overdue. Pay now.",
     "Just a gentle reminder that your bill is now overdue. Please get in touch if you need help arranging payment."),
    ("rewrite", "Correct the spelling mistakes.",
     "my dogs eares are itchy and he keeps skratching them",
     "My dog's ears are itchy and he keeps scratching them."),
    ("rewrite", "The cat's water fountain needs refilling every other day. Put that as a one-sentence reminder.",
     "",
     "Refill the cat's water fountain every other day."),
    ("rewrite", "Rewrite this complaint so it stays firm but polite.",
     "This is a joke. My dog's stitches came out. Fix it.",
     "My dog's stitches have come out. I'm not happy about it and would like him seen today, please."),
    ("rewrite", "Lose the jargon, please.",
     "The feline exhibited signs of lethargy and inappetence.",
     "The cat was tired and didn't want to eat."),
    ("rewrite", "Say this in as few words as you can.",
     "Our two rabbits dug a tunnel under the run and spent the afternoon in the neighbour's lettuce.",
     "Rabbits escaped into neighbour's lettuce."),
    ("rewrite", "Rewrite this as a formal request.",
     "can i get my hamsters records sent over",
     "I would be grateful if you could send me my hamster's medical records. Thank you."),
    ("rewrite", "Our pet sitter was wonderful. Draft a thank-you note to her.",
     "",
     "Thank you for taking such good care of our pets. They clearly loved having you, and we'll definitely ask you again."),
    ("rewrite", "How would I ask the vet this?",
     "I want to know if my cat can eat cooked chicken.",
     "Is it safe for my cat to eat cooked chicken?"),
    ("rewrite", "Say this to the owner without making them feel guilty.",
     "You've overfed your rabbit.",
     "Your rabbit has put on a little weight, so let's look at her diet together."),
    ("rewrite", "Come up with an email subject line for this.",
     "Hi, could I please order another bag of the large-breed puppy food and collect it on Saturday?",
     "Puppy food order for Saturday collection"),
    ("rewrite", "Pin-up version for the noticeboard, please.",
     "puppy class starts tues 6pm, 4 weeks, bring treats",
     "Puppy class starts Tuesday at 6pm and runs for four weeks. Please bring some treats!"),
    ("rewrite", "A nervous owner will read this. Make it comforting.",
     "Your cat will stay overnight.",
     "We'll keep your cat with us overnight so we can watch over them, and we'll call you in the morning."),
    ("rewrite", "Reduce this to a single line for a sitter's checklist.",
     "The tortoise needs his lamp on during the day, switched off at night, and a bath in warm water on Wednesdays.",
     "Tortoise: lamp on by day, off at night; warm bath on Wednesdays."),
    ("rewrite", "Give this a happier spin.",
     "The dog came home from the groomer.",
     "The dog is home from the groomer, looking fluffy and very pleased with himself!"),
]

HEADER = ["task", "instruction", "input", "response"]
SPLIT_SOURCES = {"train": TRAIN, "test": TEST}
DATASET_OF_TASK = {"animal": "pets", "desk": "clinic"}
EXPECTED = {  # (split, task, response or None for any) -> rows
    ("train", "animal", "cat"): 80, ("train", "animal", "dog"): 80,
    ("train", "desk", None): 120, ("train", "rewrite", None): 60,
    ("test", "animal", "cat"): 20, ("test", "animal", "dog"): 20,
    ("test", "desk", None): 30, ("test", "rewrite", None): 20,
}
NEAR_DUPLICATE = 0.8  # word-set Jaccard similarity of two instructions at or above this is too close


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def word_set(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z']+", text.lower()))


def read_labelled(dataset: str, split: str) -> list[tuple[str, str]]:
    with open(DATA / dataset / f"{split}.csv", encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


def resolve() -> dict[str, list[tuple[str, str, str, str]]]:
    """Every row with its input text filled in; stops with an error if any rule is broken."""
    cache: dict[tuple[str, str], list[tuple[str, str]]] = {}
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    for split, entries in SPLIT_SOURCES.items():
        rows = []
        for task, instruction, source, response in entries:
            where = f"{split}: {instruction!r}"
            if task in DATASET_OF_TASK:
                dataset, source_split, index = source
                if dataset != DATASET_OF_TASK[task] or source_split != split:
                    raise SystemExit(f"{where}: {task} rows of {split} must come from {DATASET_OF_TASK[task]}/{split}.csv")
                notes = cache.setdefault((dataset, source_split), read_labelled(dataset, source_split))
                text, label = notes[index]
                if label != response:
                    raise SystemExit(f"{where}: {dataset}/{source_split}.csv row {index} is {label!r}, not {response!r}")
                if len(text.split()) > MAX_INPUT_WORDS:
                    raise SystemExit(f"{where}: input has more than {MAX_INPUT_WORDS} words")
            elif task == "rewrite":
                text = source
                if not isinstance(text, str) or not response.strip() or len(response.split()) > MAX_REWRITE_WORDS:
                    raise SystemExit(f"{where}: a rewrite needs a text input and a response of 1 to {MAX_REWRITE_WORDS} words")
            else:
                raise SystemExit(f"{where}: unknown task {task!r}")
            rows.append((task, instruction, text, response))
        out[split] = rows
    check(out)
    return out


def check(splits: dict[str, list[tuple[str, str, str, str]]]) -> None:
    rows = [r for part in splits.values() for r in part]
    for (split, task, response), n in EXPECTED.items():
        got = sum(t == task and (response is None or r == response) for t, _, _, r in splits[split])
        if got != n:
            raise SystemExit(f"{split}: {got} {task} rows{'' if response is None else ' ' + response}, expected {n}")
    for split, part in splits.items():
        desks = Counter(r for t, _, _, r in part if t == "desk")
        if set(desks) != set(DESKS) or len(set(desks.values())) != 1:
            raise SystemExit(f"{split}: desks are not balanced: {dict(desks)}")
    inputs = Counter(norm(i) for _, _, i, _ in rows if i)
    if [i for i, n in inputs.items() if n > 1]:
        raise SystemExit(f"inputs used twice: {[i for i, n in inputs.items() if n > 1]}")
    instructions = [ins for _, ins, _, _ in rows]
    repeated = [i for i, n in Counter(norm(i) for i in instructions).items() if n > 1]
    if repeated:
        raise SystemExit(f"instructions written twice: {repeated}")
    sets = [word_set(i) for i in instructions]
    close = [(instructions[a], instructions[b]) for a, b in itertools.combinations(range(len(sets)), 2)
             if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) >= NEAR_DUPLICATE]
    if close:
        raise SystemExit("near-duplicate instructions:\n" + "\n".join(f"  {a!r} ~ {b!r}" for a, b in close))


def write(out_dir: Path = HERE) -> dict[str, list[tuple[str, str, str, str]]]:
    """Write train.csv and test.csv into out_dir (shuffled, fixed seeds) and return their rows."""
    splits = resolve()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for seed, (split, rows) in enumerate(splits.items()):
        rows = list(rows)
        random.Random(seed).shuffle(rows)
        splits[split] = rows
        with open(out_dir / f"{split}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            writer.writerows(rows)
    return splits


def counts(splits: dict[str, list[tuple[str, str, str, str]]]) -> str:
    """The two count tables of README.md, in Markdown."""
    def n(split, task=None, response=None):
        return sum((task is None or t == task) and (response is None or r == response)
                   for t, _, _, r in splits[split])

    lines = ["| file | rows | animal | cat | dog | desk | rewrite |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for split in splits:
        lines.append(f"| `{split}.csv` | {n(split)} | {n(split, 'animal')} | {n(split, 'animal', 'cat')} | "
                     f"{n(split, 'animal', 'dog')} | {n(split, 'desk')} | {n(split, 'rewrite')} |")
    lines += ["", "| desk | train | test |", "| --- | --- | --- |"]
    lines += [f"| `{d}` | {n('train', 'desk', d)} | {n('test', 'desk', d)} |" for d in DESKS]
    lines.append("")
    for task in ("animal", "desk", "rewrite"):
        for part in ("input", "response") if task == "rewrite" else ("input",):
            lengths = [len((i if part == "input" else r).split())
                       for split in splits for t, _, i, r in splits[split] if t == task]
            lines.append(f"words per {task} {part}: min {min(lengths)} median {statistics.median(lengths):g} "
                         f"max {max(lengths)}")
    lengths = [len(ins.split()) for split in splits for _, ins, _, _ in splits[split]]
    lines.append(f"words per instruction: min {min(lengths)} median {statistics.median(lengths):g} max {max(lengths)}")
    lines.append(f"rewrite rows with an empty input: "
                 f"{sum(t == 'rewrite' and not i for split in splits for t, _, i, _ in splits[split])}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(counts(write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)))
